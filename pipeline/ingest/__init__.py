"""Reading ``raw/`` into typed tables: the readers and the core of the ingest stage. They read and return, never
write: the stage shell :mod:`pipeline.stages.ingest` writes ``output/01_ingest/``.

In reading order, each module using only those above it:

- :mod:`pipeline.ingest.encoding` — which of UTF-8 (with or without BOM), GBK, GB18030 a CSV export is in;
- :mod:`pipeline.ingest.filetype` — what a file really is (zip → ``.xlsx``, OLE2 → ``.xls``, else text), and
  whether an OLE2 file is a password-protected workbook;
- :mod:`pipeline.ingest.xlsx_extent` — an ``.xlsx`` whose cells reach far beyond its data trimmed before reading;
- :mod:`pipeline.ingest.excel` — every sheet of an ``.xlsx``/``.xls`` workbook or a CSV as rows of cells (calamine,
  Arrow's CSV parser), header rows found below titles, merged cells filled, blank edges trimmed;
- :mod:`pipeline.ingest.columns` — work on a column's distinct values: factorise, compute once per value, spread
  back;
- :mod:`pipeline.ingest.text` — cells as stripped text and as numbers, and the comparison form of texts
  (:func:`~pipeline.ingest.text.normalize`);
- :mod:`pipeline.ingest.privacy` — keyed pseudonyms, masking of free text, splitting 问卷星's ``来自IP``;
- :mod:`pipeline.ingest.wjx` — the 问卷星 export format: headers, the two modes, meta columns, 其他 fill-ins,
  ``┋``-joined multiple choice;
- :mod:`pipeline.ingest.codebook_match` — a 问卷星 export matched to a codebook and decoded to codes (−9 for an
  answer that is no option);
- :mod:`pipeline.ingest.paper` — paper-entry sheets (the item-id header of ``fazhi-eval template``, codes);
- :mod:`pipeline.ingest.casefile_sheets` — case-file review workbooks, scores recomputed from the standard;
- :mod:`pipeline.ingest.checkpoint_sheets` — evaluators' checkpoint sheets;
- :mod:`pipeline.ingest.records` — the source columns every table starts with, and unique record ids;
- :mod:`pipeline.ingest.surveys` — one survey file (问卷星 export or paper workbook) as records in contract order;
- :mod:`pipeline.ingest.parts` — the stage's four tables (:data:`~pipeline.ingest.parts.PARTS`), one raw folder
  each, and the ingest report.

Beside the stage: :mod:`pipeline.ingest.templates` writes the blank entry workbooks those readers accept
(``fazhi-eval template``); :mod:`pipeline.ingest.labels`, :mod:`pipeline.ingest.draft` and
:mod:`pipeline.ingest.draft_yaml` draft a questionnaire YAML from a 问卷星 export (``fazhi-eval codebook draft``).
"""
