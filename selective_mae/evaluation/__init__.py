from .knn import knn_accuracy, knn_scores, topk_accuracy  # noqa: F401
from .knn_probe import KNNProbe, vit_features  # noqa: F401
