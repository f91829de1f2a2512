DROP TABLE survey_mappings;
DROP TABLE inbox;
