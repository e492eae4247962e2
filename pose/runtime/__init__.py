"""Which runtime and precision run a network (`choice`), and OpenVINO's compiled CPU models with
their on-disk cache (`openvino_model`, `openvino_cache`).

`choice` imports neither torch nor OpenVINO, so command lines can resolve the user's flags fast.
"""
