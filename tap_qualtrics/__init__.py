"""tap-qualtrics: a Singer tap for Qualtrics (surveys, questions, responses, users) on the Meltano SDK."""
