"""Package data of the insight labellers: third_party.txt, the gazetteer of third-party names."""
