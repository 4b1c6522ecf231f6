from .finite_loss_hook import FiniteLossHook, NonFiniteLossError  # noqa: F401
from .psts_progress_hook import PSTSProgressHook  # noqa: F401
from .bad_image_hook import BadImageHook  # noqa: F401
from .infobatch_hook import InfoBatchHook  # noqa: F401
from .atomic_checkpoint_hook import AtomicCheckpointHook  # noqa: F401
from .preemption_hook import (PREEMPTED_EXIT_CODE, PreemptionHook,  # noqa: F401,E501
                              TrainingPreempted)
from .knn_eval_hook import KNNEvalHook  # noqa: F401
from .train_budget_hook import TrainBudgetHook  # noqa: F401
