"""Raw data: fetching the public files, reading each file format, and preparing tasks."""
