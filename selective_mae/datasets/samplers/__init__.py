from .infobatch import InfoBatchSampler

__all__ = ['InfoBatchSampler']
