"""From a question to ranked sentences: hybrid candidates, the fitted ranker, abstention, follow-ups."""
