"""How a trained model is used: loaded, evaluated, asked, exported and served.

- `trained`: a run directory or `.keras` file, loaded with what using it needs.
- `evaluate` (and `report`): measuring a model on a data split.
- `predict`: classes of image files, folders and glob patterns.
- `export/`: SavedModel (TF Serving's layout), TFLite and ONNX, checked against Keras.
- `server/`: `zoo serve`, TF Serving's REST API for one exported model.
"""
