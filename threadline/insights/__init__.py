"""Insights: semantic threads derived locally from logged conversations (issue 13).

model.py is the contract between the pieces: the pipeline cuts conversations into ThreadText,
labels.label_thread turns one into Labels, subjects names clusters; nothing here is sent anywhere.
"""
