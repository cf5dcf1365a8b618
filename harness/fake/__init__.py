"""The fake AWS account and Kubernetes API the offline render runs against: `World` (what the account
holds), one module per service answering its resource registrations and data-source calls, and
`FakeCloud`, the Pulumi mocks that dispatch to them."""
