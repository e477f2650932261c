"""What builds the model folders that :mod:`contentplan.model` loads: training, evaluation, the
corpus and real-text labels, adaptation to a user's labels and the review that picks them."""
