"""How models are trained and used: data, training, search, evaluation, export, understanding."""
