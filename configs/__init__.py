"""YAML configuration files shipped with hrtrack (models, tracking, training)."""
