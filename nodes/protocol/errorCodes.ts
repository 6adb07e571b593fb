// Ksher error-code table, copied from the merchant integration guide (71 codes).
// Kept as code, not JSON, so the package never reads files at run time.

export interface KsherErrorCodeInfo {
	description: string;
	reason: string;
	solution: string;
}

export const KSHER_ERROR_CODES: Readonly<Record<string, KsherErrorCodeInfo>> = {
	APPID_NOT_EXIST: {
		description: 'APPID not exist',
		reason: 'APPID was absent in parameters.',
		solution: 'Please check if the APPID is correct.',
	},
	APPID_MCHID_NOT_MATCH: {
		description: 'APPID and MCHID not match',
		reason: 'APPID and MCHID not match',
		solution: 'please check if the APPID and mchid match.',
	},
	INVALID_ORDER_NO: {
		description: 'invalid order no.',
		reason: 'order no. passed in is not correct.',
		solution:
			'parameter error, please check if the original order no. passed in exist or if the original order is failed.',
	},
	KSHER_SIGN_ERROR: {
		description: 'signature error',
		reason: 'merchant signature is not correct',
		solution:
			'Generally, this means that the signature parameter is incorrect. However, signature generation involves multiple factors, including: - The private key of the merchant being used - The data used to generate the signature parameter Typically, if an SDK has not been newly developed, we recommend checking whether the private key in use is the latest version downloaded from the merchant platform. If you have developed the API yourself, we recommend verifying that your signature generation follows the format outlined in Signature Creation.',
	},
	KSHER_SYSTEMERROR: {
		description: 'Error occurred during handling the request.',
		reason: 'Error occurred during handling the request.',
		solution: 'Issue the refund request again.',
	},
	KSHER_VERSION_ERROR: {
		description: 'API version used by merchant is not compatible with the API of the vendor',
		reason: 'API version used does not match',
		solution: 'contact the vendor to confirm current API version',
	},
	KSHER_ERROR_ORDER_NO: {
		description: 'Missing order no parameter',
		reason: 'Missing order no parameter',
		solution: 'Check the order no.(mch_order_no, ksher_order_no, channel_order_no)',
	},
	KSHER_REFUND_EXPIRE: {
		description: 'Refund can not be made via API by merchant after the order already settled.',
		reason: 'Refund can not be made via API by merchant after the order already settled.',
		solution: 'Please submit refund request on the Ksher merchant platform.',
	},
	KSHER_INVALID_MCHINFO: {
		description: 'merchant information is not correct',
		reason: 'the appid passed in does not exist in the vendor’s system',
		solution: 'confirm if the appid passed in is correct, contact the vendor if needed.',
	},
	KSHER_INVALID_ORDER_NO: {
		description: 'order no. does not exist',
		reason: 'the order no. passed in cannot be found in vendor’s system',
		solution: 'check if the order no. passed in is correct',
	},
	KSHER_INVALID_REFUND_FEE: {
		description: 'invalid amount to refund',
		reason: 'amount to refund is greater than the available amount',
		solution: 'check if the amount to refund is correct',
	},
	KSHER_INVALID_REFUND_AMOUNT: {
		description: 'Partially refund is not allowed',
		reason: 'Partially refund is not allowed',
		solution: 'refund completely is allowed.',
	},
	KSHER_INVALID_REFUND_BALANCE: {
		description:
			'The balance amount of this order(price fee minus amount already refunded.) is not enough for the amount to refund.',
		reason:
			'The balance amount of this order(price fee minus amount already refunded.) is not enough for the amount to refund.',
		solution: 'Check the amount to refund.',
	},
	KSHER_INVALID_REFUND_ORDER_NO: {
		description: 'invalid refund order no.',
		reason: 'the refund order no. passed already used.',
		solution: 'check if the refund order no. passed in, use a new one.',
	},
	KSHER_INVALID_REFUND_FEE_OR_TYPE: {
		description: 'Refund currency or amount invalid',
		reason: 'Refund currency or amount invalid',
		solution: 'Check the currcency or amount to refund.',
	},
	KSHER_PARAM_OVERLENGTH: {
		description: 'Some parameters are too long.',
		reason: 'Some paramters are too long',
		solution: 'Check the parameters.',
	},
	KSHER_INVALID_PARAM: {
		description: 'Missing parameter(s)',
		reason: 'Some parameter(s) invalid',
		solution: 'Check parameter(s) is correct',
	},
	KSHER_DUPLICATED_ORDERNO: {
		description: 'The merchant order no already used.',
		reason: 'The merchant order no already used.',
		solution: 'Use a new order no to make the order again.',
	},
	KSHER_EXCEED_AMOUNT_LIMIT: {
		description: 'the amount to pay exceeds the amount limit configured',
		reason: 'the amount to pay exceeds the amount limit configured',
		solution: 'make sure if the amount to pay exceeds the limit.',
	},
	KSHER_FEETYPE_NOT_MATCH: {
		description: 'fee type does not match',
		reason: 'pricing fee type does not match the registered fee type',
		solution:
			'merchant needs to modify the program, if merchant is sure that the fee type passed in is correct, contact the vendor.',
	},
	KSHER_DUPLICATED_REFUND_ORDERNO: {
		description: 'invalid refund order no',
		reason: 'the refund order no. passed already used.',
		solution: 'check if the refund order no. passed in, use a new one.',
	},
	KSHER_AMOUNT_IS_TOO_SMALL: {
		description: 'The amount is too small.',
		reason: 'The amount is too small',
		solution: 'Pass in a larger amount',
	},
	KSHER_CHANNEL_RESPONSE_ERROR: {
		description: 'Error occurred during query operation',
		reason: 'Error occurred during query operation',
		solution: 'Make an order query again.',
	},
	LACK_PARAMS: {
		description: 'parameter absent',
		reason: 'mandatory parameter(s) was absent',
		solution: 'please check if the parameters were sufficient',
	},
	MCHID_NOT_EXIST: {
		description: 'MCHID not exist',
		reason: 'MCHID was absent in parameters.',
		solution: 'please check if the MCHID is correct.',
	},
	NOAUTH: {
		description: 'the merchant has no access to this interface.',
		reason: 'the merchant has not yet got the access to this interface.',
		solution: 'contact the vendor(Ksher)',
	},
	NOT_UTF8: {
		description: 'coding format error',
		reason: 'required coding format was not used.',
		solution: 'please use UTF-8 coding',
	},
	NOTENOUGH: {
		description: 'Not enough unsettled fund for refund',
		reason: 'There is not enough unsettled fund for refund',
		solution:
			'This error code means refund request failed due to not enough unsettled fund for refund.Merchants need to contact Ksher to authorise credit for this kind of situation. If unsettled fund is enough ,please call the refund API once there is enough unsettled fund, or retry it continuously.',
	},
	ORDERPAID: {
		description: 'order closed already',
		reason: 'the order closed already.',
		solution: 'the order no. is already closed, please launch a new order.',
	},
	ORDERNOTEXISTR: {
		description: 'the order no. does not exist',
		reason: 'the order does not exist in the system',
		solution: 'merchant need to check if the order no. is correct.',
	},
	OUT_TRADE_NO_USED: {
		description: 'repetitive out_trade_no',
		reason: 'the same order cannot be submitted for multi times.',
		solution: 'please verify whether the out_trade_no. was submitted repetitively',
	},
	PARAM_ERROR: {
		description: 'parameters error',
		reason: 'parameters requested are not correct',
		solution:
			'check the application according to the information returned, contact the vendor if needed.',
	},
	POST_DATA_EMPTY: {
		description: 'post parameters are empty',
		reason: 'post parameters should not be empty',
		solution: 'please check the paremeters posted in the http request.',
	},
	REQUIRE_POST_METHOD: {
		description: 'please use POST method',
		reason: 'the method used to pass the parameters was not POST.',
		solution: 'please check if the parameters was passed by POST method',
	},
	SYSTEMERROR: {
		description: 'system error',
		reason: 'system timeout',
		solution:
			'call the order query API immediately to check order status, and decide next step according to the status of the order',
	},
	SIGNERROR: {
		description: 'signature error',
		reason: 'the signature parameter is not correct',
		solution:
			'please check if the signature parameter and method meet the requirements of signature algorithm',
	},
	TRADE_STATE_ERROR: {
		description: 'order state error',
		reason:
			'there will be latency for the result for refund application, please query later(20 minutes for balance payment, 3 workdays for card payment)',
		solution: '',
	},
	USER_ACCOUNT_ABNORMALE: {
		description: 'refund failed',
		reason: 'user account is exceptional or unregistered.',
		solution:
			'this status stands for the failure of the refund operation, merchant can handle the refund by himself.',
	},
	XML_FORMAT_ERROR: {
		description: 'XML format error',
		reason: 'XML format error',
		solution: 'please check whether the format of XML parameters is correct.',
	},
	SHOP_ID_ERROR: {
		description: 'Invalid merchant information',
		reason: 'Invalid merchant information',
		solution: 'Please check if the APPID is correct.',
	},
	CANCEL_ERROR: {
		description: 'The cancellation failed',
		reason: 'The cancellation failed',
		solution: 'Order cannot cancel because of wallet not support or already paid',
	},
	ORDER_NOT_EXIST: {
		description: 'This order does not exist.',
		reason: 'Not found this order',
		solution: 'Check mch order no is correct or not',
	},
	USER_NOT_EXIST: {
		description: 'This user does not exist.',
		reason: 'Not found this order',
		solution: 'Check mch order no is correct or not',
	},
	ORDER_NOT_PAY: {
		description: 'This order has not been paid.',
		reason: 'This order has not been paid.',
		solution: 'Order still not paid',
	},
	ORDER_ALREADY_REFUND: {
		description: 'This order has been refunded.',
		reason: 'This order has been refunded.',
		solution: 'order has been refunded.',
	},
	REFUND_FAILED: {
		description: 'Refund failed.',
		reason: 'Refund failed.',
		solution: 'check value is correct',
	},
	EXPIIRE_ORDER: {
		description: 'The order has timed out',
		reason: 'The order has timed out',
		solution: 'expired time set in order is timeout',
	},
	ORDER_ERROT: {
		description: 'Order number must be unique',
		reason: 'Order number must be unique',
		solution: 'Check order should be not duplicate or create before',
	},
	SHOP_NOT_EXIST: {
		description: 'This shop does not exist',
		reason: 'This shop does not exist',
		solution: 'Please check if the APPID is correct.',
	},
	PRICE_NOT_EXIST: {
		description: 'Invalid price',
		reason: 'Invalid price',
		solution: 'Check amount should be not 0 or create this order before',
	},
	MCH_ORDER_ERROR: {
		description: 'Duplicate order number',
		reason: 'Duplicate order number',
		solution: 'Check order should be not duplicate or create before',
	},
	RADIS_DOES_NOT_EXIST: {
		description: 'Redis does not exist',
		reason: 'Check url is correct',
		solution: '',
	},
	QUERY_ORDER_ERROR: {
		description: 'Search for failed not completed transaction',
		reason: 'Search for failed not completed transaction',
		solution: 'check your value is correct',
	},
	ORDER_PAYMENT_ERROR: {
		description: 'Your payment failed',
		reason: 'Your payment failed',
		solution: 'Retry to paid again',
	},
	SMS_CODE_ERROR: {
		description: 'Failed to receive OTP code',
		reason: 'Failed to receive OTP code',
		solution: 'check you mobile phone is correct',
	},
	CHANNEL_LIST_ERROR: {
		description: 'You have not apply for any ewallets nor credit card payment services',
		reason: 'You have not apply for any ewallets nor credit card payment services',
		solution: 'check your channel value is correct or support',
	},
	MEMBER_ID_ERROR: {
		description: 'member_id cannot be number only',
		reason: 'member_id cannot be number only',
		solution:
			'Please check your member_id not use Real number like 1,1200,00001, but can use string with number like ABC1234.',
	},
	SAVE_CARD_ERROR: {
		description: 'Failed to save card',
		reason: 'Failed to save card',
		solution: 'Check Bank card channel can support save card function',
	},
	MEMBER_CARD_ERROR: {
		description: 'This card cannot be used',
		reason: 'This card cannot be used',
		solution: 'This card is not available, please change card to paid',
	},
	EMPTY_CARD_NO: {
		description: 'Card information is incorrect',
		reason: 'Card information is incorrect',
		solution: 'Check your card input information',
	},
	DELETE_MEMBER_CARD_ERROR: {
		description: 'Failed to delete card',
		reason: 'Failed to delete card',
		solution: 'Refresh page and try to delete again',
	},
	MEMBER_CARD_NOT_EXIST: {
		description: 'This card does not exists',
		reason: 'This card does not exists',
		solution: 'check your member_id is correct',
	},
	MEMBER_ID_LENGTH_OUT_OF_LIMIT: {
		description: 'member_id cannot be more than 32 characters',
		reason: 'member_id cannot be more than 32 characters',
		solution:
			'Please check your member_id not use Real number like 1,1200,00001, but can use string with number like ABC1234. and member_id cannot be more than 32 characters',
	},
	ORDER_ALREADY_CANCEL: {
		description: 'The order has been canceled',
		reason: 'The order has been canceled',
		solution: 'This order already cancel, Please try to create the new order.',
	},
	ORDER_ALREADY_CANCEL_OPERATION_CANNOT_BE_PERFORMED: {
		description: 'The order has been canceled, this action cannot proceed',
		reason: 'The order has been canceled, this action cannot proceed',
		solution: 'This order already cancel, Please try to create the new order.',
	},
	ORDER_ALREADY_PAY_OPERATION_CANNOT_BE_PERFORMED: {
		description: 'This order has already been paid, this action cannot proceed',
		reason: 'This order has already been paid, this action cannot proceed',
		solution: 'This order already paid, Please try to create the new order.',
	},
	ORDER_ALREADY_PAYMENT_SUCCESS: {
		description: 'Order has been completed',
		reason: 'Order has been completed',
		solution: 'This order already paid, Please try to create the new order.',
	},
	INSTAL_FEE_PAYER_ERROR: {
		description: 'Failed to apply setting of interest-bearing',
		reason: 'Failed to apply setting of interest-bearing',
		solution: 'check at instal_fee_payer_merchant_channel_list or instal_fee_payer is correct',
	},
	TRUEMONEY_OPT_CODE_ERROR: {
		description: 'Wrong OTP code',
		reason: 'Wrong OTP code',
		solution: 'check OTP is correct',
	},
	MANY_OPEN: {
		description: 'Someone is paying this bill. DO NOT pay twice.',
		reason: 'Someone is paying this bill. DO NOT pay twice.',
		solution: 'check on exclusive is turn on or not. if have another person open payment page',
	},
	LANG_REPEAT_SUBMIT: {
		description: 'Repetitive submission',
		reason: 'Repetitive submission',
		solution: 'order already create before, create the new one.',
	},
};
