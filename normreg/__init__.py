"""normreg: norm regularization from first principles, the companion package of the book
*Norm Regularization in Deep Learning*.

The core (norms, penalties, solvers) needs only NumPy. The Keras regularizers live in
:mod:`normreg.keras`, the only module that imports Keras/TensorFlow.
"""

from .norms import norm
from .penalties import L1, L2, ElasticNet, GroupLasso, Penalty

__version__ = "0.1.0"

__all__ = ["norm", "Penalty", "L1", "L2", "ElasticNet", "GroupLasso", "__version__"]
