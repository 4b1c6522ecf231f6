from .resumable_loop import ResumableEpochBasedTrainLoop  # noqa: F401
from .resume import (ResumeError, inspect_checkpoint,  # noqa: F401
                     intact_checkpoints, resolve_resume)
from .safe_training import apply_safe_training  # noqa: F401
