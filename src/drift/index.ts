/**
 * The drift engine: semantic comparison of AICR snapshots, noise rules,
 * reports, baselines and recipe constraints. No platform code: stages call
 * it through `src/stages/drift-check`.
 */
export type { Change, ChangeKind, DriftReading, DriftResult, HiddenCount, MeasurementCounts, RankedChange } from './types.ts';
export { indexSnapshot, MAX_SNAPSHOT_BYTES, parseSnapshotText, readingOf, readSnapshotFile, type DriftSnapshot, type ReadingMap } from './snapshot.ts';
export { compareSnapshots, readingText, sameReading } from './compare.ts';
export {
  buildRules,
  compileRule,
  DEFAULT_RULE_IDS,
  DEFAULT_RULES,
  defaultRules,
  DROPPED,
  hidingRule,
  normalizeReading,
  parseIgnore,
  readRulesFile,
  rulesFromDoc,
  type IgnoreInput,
  type NoiseRule,
  type RuleSpec,
  type RulesFile,
} from './rules.ts';
export { importanceOf, rankChanges } from './importance.ts';
export { detectDrift } from './detect.ts';
export { jsonPatch, normalizedForm, pointer, type NormalizedForm, type PatchOp } from './patch.ts';
export { buildReport, outcomeOf, toJsonText, type DriftReport, type Outcome, type SnapshotInfo } from './report/json.ts';
export { markdownReport, shortValue, type MarkdownOptions } from './report/markdown.ts';
export { annotationsFor } from './report/annotations.ts';
export { openMetrics } from './report/metrics.ts';
export { checkReportDir, removeStaleReport, REPORT_FILES, writeReportDir } from './report/write.ts';
export {
  baselineFileName,
  fetchText,
  findLastSuccessfulRun,
  isUrl,
  loadSnapshotRef,
  promoteToConfigMap,
  promoteToFile,
  snapshotInArtifact,
  textFormat,
  type FoundRun,
  type LastRunQuery,
  type LoadContext,
  type LoadedSnapshot,
  type SourceKind,
} from './sources.ts';
export { evaluateConstraints, parseValidateRun, recipeConstraints, type ConstraintReport, type ConstraintResult } from './recipe.ts';
