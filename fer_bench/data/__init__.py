"""FER-2013 as arrays: sources (CSV, npz, image folders) and their cache, the study's splits, the audit of
copies across splits, and scores without the evaluation images that have a copy in training."""
