"""What this repository did not create: the network and the database it builds on.

Replace these with your own values (or read them from CDK context / Pulumi
config, SSM parameters, another stack's outputs). The identifiers below are
placeholders in the documented formats; synthesis and the offline Pulumi run
never call AWS, so they only need to look right.
"""

from __future__ import annotations

REGION = "eu-west-1"
AVAILABILITY_ZONES = ("eu-west-1a", "eu-west-1b")

VPC_ID = "vpc-0a1b2c3d4e5f60718"
#: Subnets with a NAT route: functions and tasks.
PRIVATE_SUBNET_IDS = ("subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002")
PRIVATE_ROUTE_TABLE_IDS = ("rtb-0a1b2c3d4e5f60001", "rtb-0a1b2c3d4e5f60002")
#: Subnets without internet access: the database and the RDS Proxy.
ISOLATED_SUBNET_IDS = ("subnet-0a1b2c3d4e5f60011", "subnet-0a1b2c3d4e5f60012")
ISOLATED_ROUTE_TABLE_IDS = ("rtb-0a1b2c3d4e5f60011", "rtb-0a1b2c3d4e5f60012")
#: Public subnets: the load balancer.
PUBLIC_SUBNET_IDS = ("subnet-0a1b2c3d4e5f60021", "subnet-0a1b2c3d4e5f60022")
PUBLIC_ROUTE_TABLE_IDS = ("rtb-0a1b2c3d4e5f60021", "rtb-0a1b2c3d4e5f60022")

#: The existing PostgreSQL instance and what the budget needs to know about it.
DB_ENGINE = "postgres"
DB_INSTANCE_CLASS = "db.m5.large"
DB_INSTANCE_IDENTIFIER = "orders-db"
DB_ENDPOINT = "orders-db.c0ffee000000.eu-west-1.rds.amazonaws.com"
DB_PORT = 5432
DB_RESOURCE_ID = "db-ABCDEFGHIJKLMNOPQRSTUVWXY0"
DB_NAME = "orders"
DB_MASTER_USERNAME = "app_admin"
#: The Secrets Manager secret holding the database's username and password (RDS-managed here).
DB_SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:rds!db-orders-AbCdEf"
#: The security group attached to the database; consumers get ingress on DB_PORT from their own group.
DB_SECURITY_GROUP_ID = "sg-0a1b2c3d4e5f60031"

#: ACM certificate (same Region as the load balancer) for the web app's HTTPS listener.
CERTIFICATE_ARN = "arn:aws:acm:eu-west-1:111122223333:certificate/0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"

#: This repository's share of the database: other applications use the rest.
#: The share of the database the owning app handed this one (it declares
#: ``external_consumers={"orders-consumer": 500}``); this app's consumers split it.
SHARE = 500
API_CONNECTIONS = 200
WEB_CONNECTIONS = 240
DATA_CONNECTIONS = 60
