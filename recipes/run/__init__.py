"""The ground floor of every command that uses a run.

Its directory and locks, the trained model, its images, its curves and the
drawing helpers of every picture.
"""
