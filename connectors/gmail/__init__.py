"""The Google connector: Gmail message metadata, Google Contacts and Google Calendar."""
