// Chat formatting: Ovis1.6 conversation formatters (what Ovis uses) and HF chat templates.
export {
  type ConversationFormatter,
  createFormatter,
  FORMATTER_CLASSES,
  type FormatOptions,
  type Formatted,
  type FormatterClass,
  type Turn,
  tokenizeWithImageSymbol,
} from './formatters.js';
export { type ChatMessage, type ChatTemplateOptions, renderChatTemplate } from './template.js';
