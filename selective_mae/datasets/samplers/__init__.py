from .infobatch import InfoBatchSampler
from .resumable import ResumablePosition, ResumableSampler

__all__ = ['InfoBatchSampler', 'ResumablePosition', 'ResumableSampler']
