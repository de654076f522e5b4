"""Security xApps (anomaly detection, micro-segmentation)."""
