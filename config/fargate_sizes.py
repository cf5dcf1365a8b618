"""The size Fargate gives a pod for its requests: the EKS user guide's "Fargate Pod configuration" page
(docs.aws.amazon.com/eks/latest/userguide/fargate-pod-configuration.html): Fargate adds 256 MB to the pod's
memory request for the Kubernetes components it runs beside the pod (kubelet, kube-proxy, containerd), then
rounds vCPU and memory up to the nearest of its combinations below. A pod with no requests gets the smallest,
0.25 vCPU and 0.5 GB."""

from __future__ import annotations

from config.quantities import cpu_millis, quantity_value

FARGATE_OVERHEAD_MIB = 256
GIB = 1024


def _steps(first_gib: int, last_gib: int, step_gib: int) -> tuple[int, ...]:
    return tuple(g * GIB for g in range(first_gib, last_gib + 1, step_gib))


FARGATE_SIZES: tuple[tuple[int, tuple[int, ...]], ...] = (
    (250, (512, 1 * GIB, 2 * GIB)),
    (500, _steps(1, 4, 1)),
    (1000, _steps(2, 8, 1)),
    (2000, _steps(4, 16, 1)),
    (4000, _steps(8, 30, 1)),
)
"""(vCPU in millicores, the memory sizes in MiB it comes with), as the EKS user guide's table lists them: up
to 4 vCPU and 30 GB (the larger sizes of ECS on Fargate are not in the EKS table). The same page: "All Amazon
EKS Fargate Pods run with guaranteed priority, so the requested CPU and memory must be equal to the limit for
all of the containers"."""


def fargate_size(cpu: str, memory: str) -> tuple[int, int] | None:
    """(vCPU millicores, memory MiB) of the Fargate pod for these requests; None when no size fits."""
    need_cpu = cpu_millis(cpu)
    need_memory = quantity_value(memory) / 2**20 + FARGATE_OVERHEAD_MIB
    for vcpu, memories in FARGATE_SIZES:
        if vcpu < need_cpu:
            continue
        for size in memories:
            if size >= need_memory:
                return vcpu, size
    return None


def describe_size(size: tuple[int, int]) -> str:
    """`0.25 vCPU, 1 GB` (the user guide's units)."""
    vcpu, mib = size
    memory = "0.5" if mib == 512 else str(mib // GIB)
    return f"{vcpu / 1000:g} vCPU, {memory} GB"
