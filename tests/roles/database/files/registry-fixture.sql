drop database if exists registry;
create database registry charset = utf8;

use registry;

create table access (
 access_id int NOT NULL AUTO_INCREMENT,
 access_code char(1),
 comment varchar (30),
 primary key (access_id)
);

insert into access (access_code, comment) values
('M', 'Management access for project'),
('R', 'Read access for project');

create table user (
 user_id int NOT NULL AUTO_INCREMENT,
# comment lines like the real registry.sql
 username varchar(255),
 primary key (user_id),
 UNIQUE (username)
);

CREATE TABLE IF NOT EXISTS `alembic_version` (
    `version_num` varchar(32) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8;

insert into alembic_version values ('1.5.0');
