"""Seeing what a model learned: curves, filters, activations, explanations, neighbours, embeddings.

- `curves`: loss, accuracy and learning rate per epoch (`curves.png`, `zoo plot`);
- `filters`: a convolution's filters and a layer's activation maps;
- `layers`: layers by path into nested models, taps, the logits;
- `subject`, `cam`, `gradients`, `occlusion`: the explanation methods;
- `explain`: `zoo explain`, and `checks`: its randomisation and faithfulness tests;
- `images`, `features`, `neighbors`, `embed`: feature space, `zoo neighbors`, `zoo embed`;
- `drawing`: the pictures' shared pieces.
"""
