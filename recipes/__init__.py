"""How models are trained and used: data, training, fine-tuning, search, evaluation, export."""
