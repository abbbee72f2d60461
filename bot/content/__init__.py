"""What officials publish besides chat: survey administration, consultations on draft policies and
the reform documents database. Core logic only (SQLAlchemy, no web framework): the admin API
(admin_api/routes_surveys|consultations|documents.py) and the public pages (channels/public/)
are thin layers over these modules."""
