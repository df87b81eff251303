"""The shared database and everything kept in it: feedback, the replay cache, the card log and the report.
The only folder that touches SQLAlchemy."""
