"""Many signals through many impulse responses: ``sigconv batch``, locally or on a Dask cluster.

One module per job: :mod:`.discovery` finds the files, :mod:`.pairing`
pairs them and draws levels, :mod:`.naming` names the outputs,
:mod:`.planning` cuts the work into picklable :mod:`.jobs`,
:mod:`.execution` runs a task on a worker (each IR prepared once),
:mod:`.local` and :mod:`.cluster` run the tasks, :mod:`.manifest` records
them and :mod:`.summary` counts them; :mod:`.running` puts it together.
"""

from ..lazy import lazy_exports

_EXPORTS = {
    "BatchTask": "jobs", "PairJob": "jobs", "PairResult": "jobs",
    "BatchPlan": "planning", "plan_batch": "planning", "plan_from_manifest": "planning",
    "BatchSummary": "summary",
    "convolve_batch": "running", "run_batch": "running",
    "run_task": "execution",
    "read_manifest": "manifest", "write_manifest": "manifest",
    "discover": "discovery",
    "Range": "pairing", "pair_up": "pairing",
}

__all__ = sorted(_EXPORTS, key=str.lower)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
