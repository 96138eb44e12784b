"""The PaaS example (config ``paradigm: paas``): the sample web app on Fargate behind an ALB.

Pulumi twin of the CDK stack ``Paas``. Config keys (project namespace
``deploy-paradigms``), all optional:

``image``           image URI to run. Omitted: an ECR repository (``web-images``) is
                    created and the tasks run ``<repository>:sample-<hash>``, where
                    ``<hash>`` is the content hash of the sample app's Docker context
                    (``packaging.container_context()``), so a code change is a new tag.
``certificateArn``  ACM certificate: HTTPS with an HTTP redirect. Omitted: plain HTTP.
``maxTasks``        autoscaling maximum (default 4); ``minTasks`` (default 1).
``poolSize``        connections per task; omitted, the largest the budget allows.

Pulumi without Docker cannot build the image, so building is a documented
step. ``pulumi up`` creates the repository and the service; the service's
tasks cannot start until the image exists. Push it (the stack output
``imageBuildCommands`` prints the exact commands), then start a deployment::

    pulumi stack output imageBuildCommands | sh
    aws ecs update-service --cluster <clusterArn> --service <serviceName> --force-new-deployment
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from ..container_service import ContainerService, ContainerServiceArgs
from ..database import Database
from ..migrations import DatabaseMigrations, DatabaseMigrationsArgs
from ..network import Network
from ..program import config_int

#: The config keys this example reads, beside the program's (``pulumi config set <key> <value>``).
CONFIG_KEYS = {
    "image": "container image URI to run (default: build the sample web app's image)",
    "certificateArn": "ACM certificate for an HTTPS listener (default: HTTP only, with a warning)",
    "minTasks": "fewest tasks autoscaling keeps (default 1)",
    "maxTasks": "most tasks autoscaling may run (default 4); sizes the pool per task",
    "poolSize": "connections per task (default: the largest that fits the budget)",
}

#: Images kept in the repository; older ones expire (ECR lifecycle policy).
KEEP_IMAGES = 10


def _repository(name: str) -> aws.ecr.Repository:
    repository = aws.ecr.Repository(
        name, image_tag_mutability="IMMUTABLE",
        image_scanning_configuration={"scan_on_push": True},
        encryption_configurations=[{"encryption_type": "AES256"}])
    aws.ecr.LifecyclePolicy(
        f"{name}-lifecycle", repository=repository.name,
        policy=pulumi.Output.json_dumps({"rules": [{
            "rulePriority": 1, "description": f"keep the last {KEEP_IMAGES} images",
            "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": KEEP_IMAGES},
            "action": {"type": "expire"}}]}),
        opts=pulumi.ResourceOptions(parent=repository))
    return repository


def _count(config: pulumi.Config, key: str, default: int) -> int:
    value = config_int(config, key, default)
    return default if value is None else value


def build(network: Network, database: Database, config: pulumi.Config) -> None:
    """VPC and database are given; add the web service (and its image repository)."""
    image_uri = config.get("image")
    repository: aws.ecr.Repository | None = None
    if image_uri:
        image: pulumi.Input[str] = image_uri
    else:
        from ... import packaging  # the sample app's Docker context

        engine = database.engine.value  # the image carries this engine's driver
        tag = f"sample-{packaging.directory_hash(packaging.container_context(engine=engine))[:16]}"
        repository = _repository("web-images")
        image = pulumi.Output.concat(repository.repository_url, ":", tag)
        registry = repository.repository_url.apply(lambda url: url.split("/", 1)[0])
        pulumi.export("imageBuildCommands", pulumi.Output.format(
            "aws ecr get-login-password | docker login --username AWS --password-stdin {0} && "
            "docker build --platform linux/amd64 -t {1} "
            "\"$(python -c 'from deploy_paradigms import packaging; "
            "print(packaging.container_context(engine=\"{2}\"))')\" "
            "&& docker push {1}", registry, image, engine))

    from ... import packaging

    # Every update that changes the SQL files migrates before the service updates.
    migrations = DatabaseMigrations("web", DatabaseMigrationsArgs(
        database=database, migrations_dir=packaging.SAMPLE_MIGRATIONS_DIR))
    web = ContainerService("web", ContainerServiceArgs(
        database=database,
        image=image,
        ecr_repository_arn=repository.arn if repository is not None else None,
        certificate_arn=config.get("certificateArn") or None,
        min_tasks=_count(config, "minTasks", 1),
        max_tasks=_count(config, "maxTasks", 4),
        pool_size=config_int(config, "poolSize"),
    ), opts=pulumi.ResourceOptions(depends_on=[migrations]))
    plan = web.plan
    pulumi.export("url", web.url)
    pulumi.export("image", image)
    pulumi.export("clusterArn", web.cluster_arn)
    pulumi.export("serviceName", web.service.name)
    pulumi.export("poolSize", plan.pool_size)
    pulumi.export("maxTasks", plan.max_tasks)
    pulumi.export("plan", plan.summary())
