"""Suggested departments for messages and work orders that arrive without one (docs/suggestions.md).

* :mod:`~streams.books.suggest.segment`: a text as words (jieba) and character bigrams;
* :mod:`~streams.books.suggest.model`: naive Bayes over them, learned and unlearned one
  dispatch at a time, suggesting the top departments with probabilities and deciding words;
* :mod:`~streams.books.suggest.dispatches`: the office's dispatches (message and work order
  events) as the model's examples, one per message or order: the ``dispatches`` book;
* :mod:`~streams.books.suggest.summary`: that book's summary, the model the live worker keeps
  and the views ask (streams/views/suggestions.py).

Pure: no I/O but jieba reading its dictionary once, no clock. A suggestion is only ever shown to
the duty officer; nothing here dispatches anything.
"""
