"""The training engine, one concern per module, each importable on its own.

- :mod:`.trainer`: :class:`Trainer`, the Keras methods (``compile``, ``fit``'s epoch loop,
  ``evaluate``, ``predict``, ``train_on_batch`` ...) that a model class inherits;
- :mod:`.step`: one training step as plain functions of the layers, the loss and a batch, with
  the one rule for fusing the loss with the last activation;
- :mod:`.data`: checks of arguments, arrays and targets, the validation split, chunks;
- :mod:`.flat`: all weights in one vector for element-wise optimizers;
- :mod:`.parallel` and :mod:`.threads`: parts of a batch on several cores;
- :mod:`.inference`: evaluation and prediction a chunk at a time;
- :mod:`.callback_list`: the callbacks of one run behind one hook manager.
"""

from .trainer import Trainer

__all__ = ["Trainer"]
