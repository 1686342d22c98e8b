"""The Microsoft connector: Outlook and Microsoft 365 mail metadata, contacts and meetings."""
