drop database if exists registry;
create database registry charset = utf8;

use registry;

-- Harbor 1.5 schema, DOUBLE edition (registryops.harbor_ha lab; test data, not Harbor's file).
-- Shaped like Harbor 1.5's make/photon/db/registry.sql: it DROPS the database first (so it must be
-- loaded exactly once, guarded by alembic_version), and ends by recording schema version 1.5.0.
-- It keeps the tables the doubles use (user, properties, alembic_version) and a few that Harbor's
-- tooling looks at, with the same names and key columns.

create table access (
 access_id int NOT NULL AUTO_INCREMENT,
 access_code char(1),
 comment varchar (30),
 primary key (access_id)
);
insert into access (access_code, comment) values
('M', 'Management access for project'), ('R', 'Read access for project'), ('W', 'Write access for project'),
('D', 'Delete access for project'), ('S', 'Search access for project');

create table role (
 role_id int NOT NULL AUTO_INCREMENT,
 role_mask int DEFAULT 0 NOT NULL,
 role_code varchar(20),
 name varchar (20),
 primary key (role_id)
);
insert into role (role_code, name) values ('MDRWS', 'projectAdmin'), ('RWS', 'developer'), ('RS', 'guest');

create table user (
 user_id int NOT NULL AUTO_INCREMENT,
 username varchar(255),
 email varchar(255),
 password varchar(40) NOT NULL,
 realname varchar (255) NOT NULL,
 comment varchar (30),
 deleted tinyint (1) DEFAULT 0 NOT NULL,
 reset_uuid varchar(40) DEFAULT NULL,
 salt varchar(40) DEFAULT NULL,
 sysadmin_flag tinyint (1),
 creation_time timestamp,
 update_time timestamp,
 primary key (user_id),
 UNIQUE (username),
 UNIQUE (email)
);
-- The admin password is empty until the first ui start sets it from admin_initial_password.
insert into user (username, email, password, realname, comment, deleted, sysadmin_flag, creation_time, update_time) values
('admin', 'admin@example.com', '', 'system admin', 'admin user', 0, 1, NOW(), NOW()),
('anonymous', 'anonymous@example.com', '', 'anonymous user', 'anonymous user', 1, 0, NOW(), NOW());

create table project (
 project_id int NOT NULL AUTO_INCREMENT,
 owner_id int NOT NULL,
 name varchar (255) NOT NULL,
 creation_time timestamp,
 update_time timestamp,
 deleted tinyint (1) DEFAULT 0 NOT NULL,
 primary key (project_id),
 FOREIGN KEY (owner_id) REFERENCES user(user_id),
 UNIQUE (name)
);
insert into project (owner_id, name, creation_time, update_time) values (1, 'library', NOW(), NOW());

create table project_member (
 id int NOT NULL AUTO_INCREMENT,
 project_id int NOT NULL,
 entity_id int NOT NULL,
 entity_type char(1) NOT NULL,
 role int NOT NULL,
 creation_time timestamp default CURRENT_TIMESTAMP,
 update_time timestamp default CURRENT_TIMESTAMP on update CURRENT_TIMESTAMP,
 PRIMARY KEY (id),
 CONSTRAINT unique_project_entity_type UNIQUE (project_id, entity_id, entity_type)
);
insert into project_member (project_id, entity_id, role, entity_type) values (1, 1, 1, 'u');

create table repository (
 repository_id int NOT NULL AUTO_INCREMENT,
 name varchar(255) NOT NULL,
 project_id int NOT NULL,
 description text,
 pull_count int DEFAULT 0 NOT NULL,
 star_count int DEFAULT 0 NOT NULL,
 creation_time timestamp default CURRENT_TIMESTAMP,
 update_time timestamp default CURRENT_TIMESTAMP on update CURRENT_TIMESTAMP,
 primary key (repository_id),
 UNIQUE (name)
);

-- adminserver's configuration store (CFG_DRIVER=db): one row per key, password-like values encrypted
-- with the secretkey ("<enc-v1>" + base64(iv + AES-CFB ciphertext)).
create table properties (
 id int NOT NULL AUTO_INCREMENT,
 k varchar(64) NOT NULL,
 v varchar(128) NOT NULL,
 PRIMARY KEY(id),
 UNIQUE (k)
);

CREATE TABLE IF NOT EXISTS `alembic_version` (
    `version_num` varchar(32) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

insert into alembic_version values ('1.5.0');
