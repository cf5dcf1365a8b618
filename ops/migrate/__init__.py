"""Taking over a Karpenter install that was made by hand: read-only discovery of what is running.

`discover.discover()` reads the cluster (through an injected `kubectl get -o json`) and the account (boto3)
and returns an `Install`, a frozen description of what is there, found by what it is (the controller's
image and labels, the objects it references), never by the role names of a guide.
"""
