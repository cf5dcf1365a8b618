"""Live smoke test of Karpenter on a deployed stack: make it buy nodes, show what it bought, clean up.

Run it after `pulumi up`, against the real cluster (it is not part of the test suite or CI):

    pulumi stack output kubeconfig --show-secrets > kubeconfig.json
    python -m ops.smoke --kubeconfig kubeconfig.json [--replicas 6] [--timeout 600]
        [--arch any|arm64|amd64] [--spread none|zone|capacity-type]
        [--pool NAME [--spread-constraints FILE]] [--keep]
        [--check capacity,gp3,efs,s3,alb [--s3-claim NAME --s3-namespace NS] ...]

It applies a Deployment `inflate` of pause containers that each request 1 CPU and may only run on nodes
Karpenter launched (the `karpenter.sh/nodepool` label), waits until every replica is Running, prints each
node that hosts them (NodePool, capacity type, architecture, instance type, zone) with the Spot/On-Demand
and arm64/amd64 counts, then deletes the Deployment (unless --keep) so consolidation removes the nodes.

`--pool graviton --spread-constraints spread.json`, with spread.json from
`pulumi stack output spreadConstraints --json`, gives the pods the pool's own topologySpreadConstraint,
which is how workloads get that pool's Spot/On-Demand ratio.

`--check` chooses what runs (default `capacity`, the Deployment above); the add-ons' checks are opt-in:
`gp3` (a gp3 claim bound on a Karpenter node), `efs` (an efs claim shared by two pods), `s3` (a bucket's
claim written and read; needs --s3-claim and --s3-namespace), `alb` (an alb Ingress answering HTTP).
Each creates its own namespace and deletes what it created, also on failure (ops/smoke/checks/).
The class names are arguments: --gp3-class (default gp3), --efs-class (efs), --ingress-class (alb).

Exit status: 0 all replicas ran on Karpenter nodes as asked and every chosen check passed, 1 timeout,
unexpected placement or a failed check, 2 usage or kubectl error. Needs only `kubectl` on PATH (and
whatever the kubeconfig's exec plugin needs, `aws` for EKS); no Python dependency beyond the standard
library.


The package: `cli` (arguments, the run), `workload` (the capacity check's Deployment and report),
`checks/` (one module per add-on check), `common` (errors, labels, clock and polling, options). What
the tests and other tools use is re-exported here.
"""

from ops.smoke.cli import build_manifest, main, parse_args
from ops.smoke.common import SmokeError, pending_reasons
from ops.smoke.workload import (
    adopt_constraint,
    deployment_manifest,
    format_report,
    load_spread_entry,
    placement_problems,
    progress_line,
    spread_constraint,
    summarise,
)

__all__ = [
    "SmokeError",
    "adopt_constraint",
    "build_manifest",
    "deployment_manifest",
    "format_report",
    "load_spread_entry",
    "main",
    "parse_args",
    "pending_reasons",
    "placement_problems",
    "progress_line",
    "spread_constraint",
    "summarise",
]
