"""LSMS model, text encoder, data, losses, metrics, safetensors export."""
