"""OpenVINO's compiled CPU models (`openvino_model`) with their on-disk cache (`openvino_cache`).

Which engine and precision run a network is chosen once, below this package, in `common.runtime`.
"""
