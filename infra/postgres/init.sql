-- Run once by the postgres image on an empty volume (/docker-entrypoint-initdb.d/): one server,
-- one database per store. The platform database (POSTGRES_DB=inloop) is created by the image itself.
CREATE DATABASE mlflow;
CREATE DATABASE dagster;
