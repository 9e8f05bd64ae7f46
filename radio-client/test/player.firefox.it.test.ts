import { describePlayerScenarios } from './support/player-scenarios.ts';

describePlayerScenarios('firefox');
