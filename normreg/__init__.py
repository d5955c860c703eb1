"""normreg: norm regularization from first principles, the companion package of the book
*Norm Regularization in Deep Learning*.

The core (norms, penalties, solvers, model selection) needs only NumPy. The Keras
regularizers live in :mod:`normreg.keras`, the only module that imports Keras/TensorFlow;
the figures of the book live in :mod:`normreg.viz` (matplotlib).
"""

from .norms import norm
from .penalties import L1, L2, ElasticNet, GroupLasso, Penalty, SparseGroupLasso
from .selection import CVResult, PathResult, regularization_path, select_lambda
from .solvers import ConvergenceWarning, FitResult, fit_linear

__version__ = "0.1.0"

__all__ = [
    "norm",
    "Penalty",
    "L1",
    "L2",
    "ElasticNet",
    "GroupLasso",
    "SparseGroupLasso",
    "fit_linear",
    "FitResult",
    "ConvergenceWarning",
    "regularization_path",
    "PathResult",
    "select_lambda",
    "CVResult",
    "__version__",
]
