"""The engagement's analyses, one subpackage per building block: arithmetic in ``model``, charts in ``plots``."""
