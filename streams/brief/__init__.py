"""The weekly brief (每周简报, issue 23): 热点, 重点 and 亮点 of one week, from the books.

Pure: the books as the views read them (or as a replay snapshot holds them), the week and the
moment go in; a :class:`~streams.brief.model.Brief` comes out (streams/brief/assemble.py), and
streams/brief/document.py lays it out as an office document (.docx, GB/T 9704 as far as
python-docx allows). No I/O, no clock: ``GET /brief`` (streams/views/brief.py), ``midfield
brief`` and the worker's timer pass them in. docs/brief.md says what each part means.
"""
