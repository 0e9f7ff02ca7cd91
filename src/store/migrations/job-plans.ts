/**
 * Migration 8: the write-ahead plans of jobs over an external vector store (job-plans.ts).
 * @module
 */
import type { Migration } from '../migration.js';
import { jobsTable } from '../jobs.js';
import { plansTable } from '../job-plans.js';

export const jobPlansMigration: Migration = {
  version: 8,
  name: 'job_plans',
  async up({ client, tables }) {
    // A plan left by a job that failed for good goes when the queue prunes that job.
    await client.query(`CREATE TABLE ${plansTable(tables)} (
      job_id uuid PRIMARY KEY REFERENCES ${jobsTable(tables)} (id) ON DELETE CASCADE,
      plan jsonb NOT NULL,
      created_on timestamptz NOT NULL DEFAULT now()
    )`);
  },
};
