DROP INDEX events_initiative_seq;
