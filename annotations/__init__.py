"""Jobs, batches, assignment, review, gold and scoring, and the one door to Label Studio (labelstudio.py)."""
