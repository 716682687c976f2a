"""The study's own numbers and the public FER-2013 anchors (../shared/REFERENCE.md)."""

STUDY = {
    "baseline": {"label": "study's final model (one run)", "train_accuracy": 0.6945, "val_accuracy": 0.5696,
                 "public_test_accuracy": 0.5946, "private_test_accuracy": 0.5715},
    "filters": {"label": "study's best filter chain, 64-128-1028-512 (one run)", "val_accuracy": 0.617},
}

ANCHORS = [
    ("majority class (Happy)", "24.9% / 24.5%", "Public / Private", "floor"),
    ("human", "about 65%", "-", "often quoted"),
    ("challenge winner, CNN + L2-SVM loss (2013)", "71.2%", "Private", ""),
    ("VGG variant, Khaireddin & Chen (2021)", "73.28%", "Public", "300 epochs, SGD, heavy augmentation, ten-crop"),
    ("VGG19 / ResNet18 public code", "73.1% / 73.0%", "Private", "best epoch picked on the test set: optimistic"),
    ("Residual Masking Network (2020)", "74.14% (76.82% ensemble)", "Private", "ImageNet-pretrained, 224x224"),
    ("CNN + bag of visual words (2019)", "75.42%", "-", ""),
]
