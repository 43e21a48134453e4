from django.db import migrations, models
import django.utils.timezone
import uuid


class Migration(migrations.Migration):

    initial = True

    dependencies = [
    ]

    operations = [
        migrations.CreateModel(
            name='UserEventLog',
            fields=[
                ('id', models.BigAutoField(primary_key=True, serialize=False)),
                ('user_id', models.CharField(max_length=255)),
                ('event_type', models.CharField(max_length=100)),
                ('event_version', models.PositiveIntegerField()),
                ('event_data', models.JSONField()),
                ('timestamp', models.DateTimeField()),
                ('processed_at', models.DateTimeField()),
                ('global_position', models.BigIntegerField(null=True)),
            ],
            options={
                'db_table': 'user_event_log',
                'ordering': ['global_position'],
                'managed': False,
            },
        ),
        migrations.CreateModel(
            name='UserProjection',
            fields=[
                ('id', models.BigAutoField(primary_key=True, serialize=False)),
                ('user_id', models.CharField(max_length=255, unique=True)),
                ('username', models.CharField(max_length=150, unique=True)),
                ('email', models.EmailField(max_length=254)),
                ('first_name', models.CharField(max_length=30)),
                ('last_name', models.CharField(max_length=30)),
                ('phone', models.CharField(max_length=20)),
                ('is_active', models.BooleanField()),
                ('created_at', models.DateTimeField()),
                ('updated_at', models.DateTimeField()),
                ('deactivated_at', models.DateTimeField(null=True)),
                ('current_version', models.PositiveIntegerField()),
                ('last_event_processed', models.PositiveIntegerField()),
            ],
            options={
                'db_table': 'user_projection',
                'managed': False,
            },
        ),
        migrations.CreateModel(
            name='EventStoreRecord',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('aggregate_id', models.IntegerField()),
                ('event_id', models.CharField(default=uuid.uuid4, max_length=36, unique=True)),
                ('event_type', models.CharField(max_length=100)),
                ('event_data', models.JSONField()),
                ('version', models.IntegerField()),
                ('occurred_at', models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
            ],
        ),
        migrations.CreateModel(
            name='WelcomeEmail',
            fields=[
                ('task_id', models.CharField(max_length=36, primary_key=True, serialize=False)),
                ('user_id', models.CharField(max_length=255)),
                ('email', models.EmailField(max_length=254)),
                ('sent_at', models.DateTimeField(default=django.utils.timezone.now)),
            ],
        ),
        migrations.AddConstraint(
            model_name='eventstorerecord',
            constraint=models.UniqueConstraint(fields=('aggregate_id', 'version'), name='users_eventstorerecord_aggregate_id_version_uniq'),
        ),
    ]
