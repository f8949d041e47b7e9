"""custom forms: photo and file fields (the bytes on the answer row), and work orders that
require a form (a form_links row naming the work order; the submission names it too)

Revision ID: 0018_form_files_work_orders
Revises: 0017_returns
Create Date: 2026-12-02 15:50:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0018_form_files_work_orders'
down_revision = '0017_returns'
branch_labels = None
depends_on = None

OLD_KINDS = ("text", "long_text", "number", "decimal", "date", "yes_no", "choice", "choices",
             "product", "customer", "supplier", "employee", "section")
NEW_KINDS = OLD_KINDS[:-1] + ("photo", "file", "section")
OLD_SUBJECT = "(product_id IS NULL) <> (category_id IS NULL)"
NEW_SUBJECT = ("(CASE WHEN product_id IS NULL THEN 0 ELSE 1 END"
               " + CASE WHEN category_id IS NULL THEN 0 ELSE 1 END"
               " + CASE WHEN work_order_id IS NULL THEN 0 ELSE 1 END) = 1")


def _kinds(kinds):
    return "kind IN (" + ", ".join(f"'{kind}'" for kind in kinds) + ")"


def upgrade():
    with op.batch_alter_table('form_fields', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_form_fields_kind'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_form_fields_kind'), _kinds(NEW_KINDS))

    with op.batch_alter_table('form_answers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('file_type', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('file_size', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('file_data', sa.LargeBinary(), nullable=True))

    with op.batch_alter_table('form_submissions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('work_order_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_form_submissions_work_order_id'),
                              ['work_order_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_form_submissions_work_order_id_work_orders'),
                                    'work_orders', ['work_order_id'], ['id'],
                                    ondelete='SET NULL')

    with op.batch_alter_table('form_links', schema=None) as batch_op:
        batch_op.add_column(sa.Column('work_order_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_form_links_work_order_id'), ['work_order_id'],
                              unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_form_links_company_id_work_order_id'),
                                          ['company_id', 'work_order_id'])
        batch_op.create_foreign_key(batch_op.f('fk_form_links_work_order_id_work_orders'),
                                    'work_orders', ['work_order_id'], ['id'], ondelete='CASCADE')
        batch_op.drop_constraint(batch_op.f('ck_form_links_one_subject'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_form_links_one_subject'), NEW_SUBJECT)


def downgrade():
    op.execute("DELETE FROM form_links WHERE work_order_id IS NOT NULL")
    with op.batch_alter_table('form_links', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_form_links_one_subject'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_form_links_one_subject'), OLD_SUBJECT)
        batch_op.drop_constraint(batch_op.f('fk_form_links_work_order_id_work_orders'),
                                 type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_form_links_company_id_work_order_id'),
                                 type_='unique')
        batch_op.drop_index(batch_op.f('ix_form_links_work_order_id'))
        batch_op.drop_column('work_order_id')

    with op.batch_alter_table('form_submissions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_form_submissions_work_order_id_work_orders'),
                                 type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_form_submissions_work_order_id'))
        batch_op.drop_column('work_order_id')

    with op.batch_alter_table('form_answers', schema=None) as batch_op:
        batch_op.drop_column('file_data')
        batch_op.drop_column('file_size')
        batch_op.drop_column('file_type')

    # the answers of photo and file fields go with their fields
    op.execute("DELETE FROM form_fields WHERE kind IN ('photo', 'file')")
    with op.batch_alter_table('form_fields', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_form_fields_kind'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_form_fields_kind'), _kinds(OLD_KINDS))
